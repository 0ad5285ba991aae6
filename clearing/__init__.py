"""Clearing house: pricing, VAT, settlement and finance output. Pure functions over hub.domain."""
