"""Request and response models of the API, one module per area (``cases``, ``ledger``, ``plans`` …);
``common`` holds the bounded scalar types they share. Routers import models from here and define none."""
