"""The workflows of a running OpenOMS, and the system they run in.

- :mod:`.runtime`: :func:`~.runtime.build_context` (settings → database → current network →
  engines) and :class:`~.runtime.Service` (the background workers); the composition root
  :mod:`openoms.server` puts them together with the HTTP app;
- :mod:`.processor`: logged events → outage records, exactly once;
- :mod:`.faults`, :mod:`.crew_alert`, :mod:`.fault_history`: the fault workflow (group, locate,
  refine, alert the crew, advisories, calibration);
- :mod:`.outages`: writes on a person's behalf (bookings, lifecycle moves, restoration steps)
  with the rules of who may do what;
- :mod:`.reliability`: the customer base, the rows of a period and the engine;
- :mod:`.networks`: which network a command works on.

Imported by name; nothing here imports the HTTP API, the CLI or the demo.
"""

__all__: list[str] = []
