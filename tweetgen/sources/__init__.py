"""Where tweets come from: the port (``port``), the histories (``sample`` with its invented
``corpus``, ``kaggle``), the live sources (``replay``, ``x_api``) and the history factory."""
