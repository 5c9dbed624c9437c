"""Field data in: the IEC 60870-5-104 master station, the MQTT subscriber, the HTTP payloads,
all turned into :class:`openoms.events.Event` and handed to the :class:`~.intake.Intake`,
which logs them (or dead-letters them with the reason) before anything acts on them.

The modules are used by name, so that importing one opens no socket and loads no driver:
:mod:`.topics` and :mod:`.payloads` (the MQTT topics and JSON payloads, pure parsing),
:mod:`.points` and :mod:`.iec104_points` (the point tables), :mod:`.intake` (into the event
log), :mod:`.mqtt` (paho-mqtt subscriber), :mod:`.iec104` (hat-drivers master),
:mod:`.iec104_sim` (a simulated outstation for the demo and tests), :mod:`.replay` (recorded
messages for ``openoms locate``).
"""

__all__: list[str] = []
