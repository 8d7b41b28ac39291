"""What the twin writes: output locations and atomic writers (:mod:`.files`), the results
file (:mod:`.results`), the HTML report (:mod:`.report`) and 3D views (:mod:`.view`)."""
