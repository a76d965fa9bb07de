"""mentorcli: run a mentoring cohort from spreadsheets.

From Python, the steps a coordinator runs are the functions of ``mentorcli.pipeline``, the same
ones the ``mentor`` command calls (each returns a result whose ``as_json()`` is the command's
``--json``; bad input raises ``MentorError``)::

    import datetime
    from mentorcli import MentorError, pipeline

    pipeline.check(["signups.xlsx"])                      # mentor check signups.xlsx
    pipeline.match(["signups.xlsx"], output="pairs.xlsx")  # mentor match signups.xlsx -o pairs.xlsx
    pipeline.schedule("pairs.xlsx", start=datetime.date(2027, 1, 4))
    pipeline.introduce("pairs.xlsx", calendar="calendar", out="outbox")
    pipeline.report("pairs.xlsx", ["calendar/checkins.xlsx"], out="reports")
    pipeline.send("outbox", host="smtp.example.org", starttls=True, user="coordinator", dry_run=True)

The stages underneath, in pipeline order: ``signups.read_signups`` -> ``match.match_people`` ->
``workbook.write_pairing_workbook`` / ``workbook.read_pairing_workbook`` ->
``schedule.plan_checkins`` -> ``mail`` and ``report``. ``mentorcli.pipeline`` is imported on
request only (it loads numpy, pandas and every stage), so ``import mentorcli`` stays light.
"""

from mentorcli.errors import MentorError

__version__ = "0.1.0"
__all__ = ["MentorError", "__version__"]
