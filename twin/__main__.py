"""``python -m twin``: the ``twin`` command (:func:`twin.cli.main`)."""
from twin.cli import main

if __name__ == "__main__":
    main()
