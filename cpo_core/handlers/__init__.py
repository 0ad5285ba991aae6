"""Handler mixins of ``StationConnection``, one module per OCPP functional area."""
