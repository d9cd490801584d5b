"""The pipelines, composed from the ports: feature (``features``), live tweets (``live``),
training (``training``), batch inference (``inference``); each as one job from settings
(``jobs``), run on cron specs (``scheduler``) or all at once offline (``demo``)."""
