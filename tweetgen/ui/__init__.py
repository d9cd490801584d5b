"""The app: tweet images (``render``), what the page shows (``views``), the model behind the
prompt box (``predictor``), the Gradio page (``gradio_app``), serving it (``serve``) and driving it
in a headless browser (``browser``)."""
