"""Read calendars back with parsers other than the one that writes them: vobject, ical.js, libical.

Each reader returns, per file, every check-in instance the client would show: sorted
``(uid, start, end)`` with UNIX seconds, recurrences expanded, overrides applied, cancelled
events left out. ical.js is the parser Thunderbird uses (npm package ``ical.js``; CI installs it
into the virtual environment, see ``.ci/run``); libical is Evolution's (Debian ``gir1.2-ical-3.0``).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from pathlib import Path

Instance = tuple[str, int, int]


def vobject_instances(path: Path) -> list[Instance]:
    """vobject (PyPI): its reading of the file's VTIMEZONEs (dateutil's tzical) and rule expansion.

    vobject resolves a TZID that is an Olson name with pytz rather than the file's VTIMEZONE,
    and dateutil's rule expansion keeps a pytz zone's first offset for every instance. So each
    wall time vobject reads or expands is placed in the zone the file itself defines, as a
    client that honours VTIMEZONE does: that is what this reader checks.
    """
    import vobject

    cal = vobject.readOne(path.read_text(encoding="utf-8"))
    zones = {str(vtz.tzid.value): vtz.gettzinfo() for vtz in getattr(cal, "vtimezone_list", [])}

    def unix(moment: dt.datetime, prop) -> int:
        tzid = (prop.params.get("X-VOBJ-ORIGINAL-TZID") or prop.params.get("TZID") or [None])[0]
        tzid = tzid or getattr(moment.tzinfo, "zone", None)
        if tzid in zones:
            moment = moment.replace(tzinfo=None).replace(tzinfo=zones[tzid])
        return _unix(moment)

    masters, overrides = [], {}
    for event in getattr(cal, "vevent_list", []):
        if getattr(event, "status", None) is not None and event.status.value.upper() == "CANCELLED":
            continue
        if hasattr(event, "recurrence_id"):
            key = (event.uid.value, unix(event.recurrence_id.value, event.recurrence_id))
            overrides[key] = (unix(event.dtstart.value, event.dtstart), unix(event.dtend.value, event.dtend))
        else:
            masters.append(event)
    out = []
    for event in masters:
        uid = event.uid.value
        start, end = unix(event.dtstart.value, event.dtstart), unix(event.dtend.value, event.dtend)
        rules = event.getrruleset(addRDate=True)
        moments = [unix(m, event.dtstart) for m in rules] if rules is not None else [start]
        # dateutil compares EXDATEs with the pytz-offset instances, so check them again on the instants
        excluded = {unix(value, prop) for prop in event.contents.get("exdate", []) for value in prop.value}
        for begin in (m for m in moments if m not in excluded):
            out.append((uid, *overrides.get((uid, begin), (begin, begin + end - start))))
    return sorted(out)


def _unix(moment: dt.datetime) -> int:
    if moment.tzinfo is None:
        raise AssertionError(f"floating time {moment} in a calendar")
    return int(moment.timestamp())


ICALJS_SCRIPT = r"""
const loaded = require(process.env.ICALJS_MODULE);
const ICAL = loaded.default || loaded;
const fs = require("fs");
const out = {};
for (const file of process.argv.slice(1)) {
  const comp = new ICAL.Component(ICAL.parse(fs.readFileSync(file, "utf8")));
  for (const vtz of comp.getAllSubcomponents("vtimezone")) {
    ICAL.TimezoneService.register(new ICAL.Timezone(vtz));
  }
  const masters = {}, exceptions = [], rows = [];
  for (const vevent of comp.getAllSubcomponents("vevent")) {
    if ((vevent.getFirstPropertyValue("status") || "").toUpperCase() === "CANCELLED") continue;
    const event = new ICAL.Event(vevent);
    if (event.isRecurrenceException()) exceptions.push(event); else masters[event.uid] = event;
  }
  for (const ex of exceptions) if (masters[ex.uid]) masters[ex.uid].relateException(ex);
  for (const uid of Object.keys(masters)) {
    const event = masters[uid];
    if (event.isRecurring()) {
      const it = event.iterator();
      let next, guard = 0;
      while ((next = it.next()) && guard++ < 5000) {
        const d = event.getOccurrenceDetails(next);
        rows.push([uid, d.startDate.toUnixTime(), d.endDate.toUnixTime()]);
      }
    } else {
      rows.push([uid, event.startDate.toUnixTime(), event.endDate.toUnixTime()]);
    }
  }
  for (const vtz of comp.getAllSubcomponents("vtimezone")) {
    ICAL.TimezoneService.remove(vtz.getFirstPropertyValue("tzid"));
  }
  out[file] = rows;
}
process.stdout.write(JSON.stringify(out));
"""


def icaljs_module() -> Path | None:
    """Where ical.js is installed: ``$ICALJS_MODULE``, or ``node_modules`` in this Python's prefix."""
    candidates = [os.environ.get("ICALJS_MODULE", ""), str(Path(sys.prefix) / "node_modules" / "ical.js")]
    for candidate in candidates:
        if candidate and (Path(candidate) / "package.json").is_file():
            return Path(candidate)
    return None


def icaljs_instances(paths: list[Path]) -> dict[Path, list[Instance]]:
    """ical.js (Thunderbird's parser) under node, all files in one process."""
    module = icaljs_module()
    assert module is not None
    result = subprocess.run(["node", "-e", ICALJS_SCRIPT, *map(str, paths)], capture_output=True, text=True,
                            timeout=600, check=True, env={**os.environ, "ICALJS_MODULE": str(module)})
    found = json.loads(result.stdout)
    return {path: sorted((uid, int(a), int(b)) for uid, a, b in found[str(path)]) for path in paths}


LIBICAL_SCRIPT = r"""
import json, sys
import gi
gi.require_version("ICalGLib", "3.0")
from gi.repository import ICalGLib
out = {}
utc = ICalGLib.Timezone.get_utc_timezone()
def unix(t):
    return t.as_timet_with_zone(t.get_timezone() or utc)
for name in sys.argv[1:]:
    cal = ICalGLib.Component.new_from_string(open(name, encoding="utf-8").read())
    masters, overrides, rows = [], {}, []
    event = cal.get_first_component(ICalGLib.ComponentKind.VEVENT_COMPONENT)
    while event is not None:
        if event.get_status() != ICalGLib.PropertyStatus.CANCELLED:
            prop = event.get_first_property(ICalGLib.PropertyKind.RECURRENCEID_PROPERTY)
            if prop is not None:
                rid = prop.get_recurrenceid()
                tzid = prop.get_parameter_as_string("TZID")
                if tzid:
                    rid.set_timezone(cal.get_timezone(tzid))
                overrides[(event.get_uid(), unix(rid))] = (unix(event.get_dtstart()), unix(event.get_dtend()))
            else:
                masters.append(event.clone())
        event = cal.get_next_component(ICalGLib.ComponentKind.VEVENT_COMPONENT)
    for event in masters:
        uid, start, end = event.get_uid(), unix(event.get_dtstart()), unix(event.get_dtend())
        found = []
        lo = ICalGLib.Time.new_from_timet_with_zone(start - 86400, 0, utc)
        hi = ICalGLib.Time.new_from_timet_with_zone(start + 86400 * 365 * 5, 0, utc)
        event.set_parent(cal)
        ICalGLib.Component.foreach_recurrence(event, lo, hi, lambda comp, span, data: found.append(span.get_start()), None)
        for begin in found:
            rows.append([uid, *overrides.get((uid, begin), (begin, begin + end - start))])
    out[name] = rows
print(json.dumps(out))
"""
SYSTEM_PYTHON = Path("/usr/bin/python3")


def libical_available() -> bool:
    if not SYSTEM_PYTHON.exists():
        return False
    probe = subprocess.run([str(SYSTEM_PYTHON), "-c", 'import gi; gi.require_version("ICalGLib", "3.0")'],
                           check=False, capture_output=True, timeout=60)
    return probe.returncode == 0


def libical_instances(paths: list[Path]) -> dict[Path, list[Instance]]:
    """libical (Evolution's parser) through Debian's GObject bindings, under the system Python."""
    result = subprocess.run([str(SYSTEM_PYTHON), "-c", LIBICAL_SCRIPT, *map(str, paths)], capture_output=True,
                            text=True, timeout=600, check=True)
    found = json.loads(result.stdout)
    return {path: sorted((uid, int(a), int(b)) for uid, a, b in found[str(path)]) for path in paths}
