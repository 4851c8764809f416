"""Plain-Python core of the connector: no ORM here, so it is testable and readable alone."""
