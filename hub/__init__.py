"""The hub's shared kernel: settings, database, domain model, services, outbox, scheduler.

Dependency rule (checked by import-linter, see pyproject.toml): nothing in ``hub`` imports a
protocol package (``ocpi``, ``oicp``, ``cpo_core``) or ``clearing``, except the composition
root (``hub.app`` and ``hub.cli``), which wires them together through the ports in
``hub.ports``.
"""
