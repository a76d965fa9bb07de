"""The match, one step per module (``mentorcli.match`` is the public entry and runs them in order).

- ``cohort``: the encoded cohort (``Cohort``, ``Side``) and ``Cells``, a block of (mentee, mentor)
  cells that criteria and rules read, whether the solver, the explanations or one pair asks;
- ``encode``: answers read into arrays (option keys, bit words, codes, UTC offsets);
- ``prepare``: ``prepare_cohort``, every answer encoded once and every table built;
- ``criteria``: each criterion declared once (``CRITERIA``) and the score;
- ``rules``: each rule declared once (``RULES``) and the one way to ask which pairs are allowed;
- ``grid``: scores and the allowed mask of a block (criteria and rules together);
- ``scale``: ``optimum``, the best pairing over every allowed pair (dense reference, or candidate
  lists, pricing rounds and minimum-cut proofs at scale), with their tuning constants;
- ``tiebreak``: among equally good pairings, places go to the earlier signups;
- ``words``: the phrases each criterion (and the shared-language rule) declares for the Why;
- ``explain``: the Why of each pair, in declaration order, and the reason for each person left out.
"""
