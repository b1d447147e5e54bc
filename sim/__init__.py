"""The simulation: the stand-in JPKI CA and simulated My Number Cards (:mod:`sim.testca`),
the whole simulated election of ``tohyo demo`` (:mod:`sim.demo`) and the browser rehearsal
(:mod:`sim.rehearsal`). Never for a real vote, and never imported by production code: the
composition root (:mod:`tohyo`) alone wires it in (``tohyo demo``, ``tohyo serve
--rehearsal``, ``tohyo jpki testca``)."""
