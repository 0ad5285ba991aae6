"""OICP 2.3 connector to Hubject (empty for now; see issue tracker)."""
