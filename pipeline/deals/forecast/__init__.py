"""When, and how likely, an open lead closes: learned from the brokerage's own stage moves.

Two things are learned, both from the stage history (``StageChange``):

* **Stage durations** (``stage_durations``): the median and 80th percentile of days the
  brokerage's recent closings spent in each stage, or the typical short-sale timelines
  until it has closings. They say when a lead is running late (the board, the deal pages).

* **The closing model** (``closing_model``): for each stage, how the leads that were in it
  left it: moved on (to the next stage; from Close, to a closing), dropped out (Dead), or
  are still there, each after how many days. For a lead that has been in its stage for
  ``d`` days, that gives the chance it moves on and on which day, counting only the leads
  that were still there after ``d`` days: a lead that has sat in Negotiate longer than any
  lead that ever moved on is not counted as a closing. The leads still in a stage are
  counted for as long as they have been there and no further, so a young brokerage's open
  deals neither inflate nor deflate the chances (the Aalen-Johansen estimator, the
  Kaplan-Meier estimator's form for two ways out). The stages after the lead's own are
  taken whole, in turn, so a lead's forecast is its chance of closing spread over the
  days ahead; its sum over every day is the chance it closes at all.

Where the history is thin, each stage's figures lean on a starting assumption worth
``PRIOR_LEADS`` leads (``PRIOR_MOVE_ON``, spread over the days around the typical and slow
days of ``REFERENCE_STAGE_DAYS``: ``assumed_departures``); with hundreds of leads through
a stage it hardly counts. Past the brokerage's last real move out of a stage only the
assumption is left, and it says so: the lead's chance fades over weeks (the assumed leads
still there that late are ever more the ones that drop out), its range stays weeks wide,
and its source reads "typical short-sale timelines", not the brokerage's track record.

``forecast_for(lead)`` is one lead's: its chance of closing and the range of days in
which 80 % of that chance falls. The reports' closings per month add the same
distributions up over every open lead, and back-test them: the model learned from what
was known 30, 60 and 90 days ago, asked about the leads open then, against how many of
those leads closed. Days are calendar days in the current zone throughout.

The modules, each importing only those listed before it; callers import a name from the
module that owns it (this package re-exports nothing):

* ``durations``: stage durations (``stage_durations``) and ``is_running_late``;
* ``prior``: the starting assumption (``assumed_departures``);
* ``history``: ``StageHistory`` and the walk over the stage moves (``stage_episodes_at``);
* ``model``: the closing model, learned (``learn_closing_model``) and kept (``closing_model``,
  ``kept_closing_model``);
* ``lead``: one lead's forecast (``forecast_for``);
* ``months``: closings per month (``closings_by_month``);
* ``back_tests``: the back-tests, and the periodic task's work (``forecast_refresh``).
"""
