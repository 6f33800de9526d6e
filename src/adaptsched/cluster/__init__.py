"""The runtime engine: the shared controller on Ray with the wall clock and a SQLite state
store (``service``), the Ray engine and its replica actors, the controller's process
(``daemon``, ``process``). Importing this package does not import Ray; its modules do."""
