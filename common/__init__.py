"""What both the thermal core (``kernels``) and the twin (``twin``) stand on: errors that
reach a user as one line (:mod:`.errors`), units and their names (:mod:`.units`), and the
properties of air and water (:mod:`.fluids`). Imports nothing of the project; importing
it changes nothing."""
