"""ISO 3166-1 alpha-2 <-> alpha-3 for the countries we roam with (OCPI locations use alpha-3,
parties and VAT use alpha-2)."""

from __future__ import annotations

ALPHA3 = {"LV": "LVA", "EE": "EST", "LT": "LTU", "FI": "FIN", "SE": "SWE", "NO": "NOR",
          "DK": "DNK", "PL": "POL", "DE": "DEU", "NL": "NLD", "FR": "FRA", "BE": "BEL",
          "AT": "AUT", "CH": "CHE", "IT": "ITA", "ES": "ESP", "GB": "GBR", "IE": "IRL",
          "CZ": "CZE", "SK": "SVK", "HU": "HUN", "SI": "SVN", "HR": "HRV", "PT": "PRT",
          "LU": "LUX", "IS": "ISL"}
ALPHA2 = {v: k for k, v in ALPHA3.items()}
