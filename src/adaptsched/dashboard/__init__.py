"""The web dashboard: one set of pages (``static/``) over two sources of the same JSON, a
running controller (``runtime_source``) and a simulation's output folder (``sim_source``), so
a real run and a simulated one are read in one tool. ``routes`` serves the pages and the
history endpoints; ``shapes`` computes what the pages draw."""
