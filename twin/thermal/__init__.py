"""The bridge from a facility hall to the thermal core: meshing a hall into a
:class:`kernels.Problem` (:mod:`.mesh`) and its steady solve (:mod:`.steady`)."""
