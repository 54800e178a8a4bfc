"""rnnkit.pipelines — whole jobs on run directories: train, evaluate, predict, compare.

The command line is a thin shell over these functions.
"""
