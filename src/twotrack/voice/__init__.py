"""Speaker embeddings shared by the stages that need a voice: ``activity`` (the own-voice rule) and
``collapse`` (mono diarization). The GE2E encoder's weights come from the Resemblyzer wheel
(``pip install --no-deps resemblyzer==0.1.4``), run in numpy; ``encoder`` says how."""
