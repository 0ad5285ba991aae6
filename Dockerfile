FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md ./
COPY hub hub
COPY ocpi ocpi
COPY oicp oicp
COPY cpo_core cpo_core
COPY clearing clearing
RUN pip install --no-cache-dir .
ENV HUB_HTTP__HOST=0.0.0.0 \
    HUB_OCPP__HOST=0.0.0.0 \
    HUB_DATA_DIR=/data \
    HUB_LOG_FORMAT=json
EXPOSE 8080 9000
CMD ["sh", "-c", "hub db upgrade && hub db seed-demo && hub serve"]
