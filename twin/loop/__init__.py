"""The twin over time: run settings, the hall models and the campus loop that couples
IT load, airflow and heat, cooling, plant and power step by step (``twin run``)."""
