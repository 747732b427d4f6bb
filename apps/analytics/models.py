# Analytics reads the other apps' tables; it has no models of its own yet.
