# No models. The module exists so that Django sends this app's post_migrate signal,
# which rebuilds the role groups once every other app's permissions exist (apps.py).
