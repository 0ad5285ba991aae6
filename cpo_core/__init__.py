"""CPO core: the OCPP central system for the operator's own and member owners' stations."""
