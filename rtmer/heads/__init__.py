"""Classifier heads that run in numpy on a network's outputs, shared by the torch models
(:mod:`rtmer.models`) and the inference backends (:mod:`rtmer.backends`); no torch, no runtime.

:mod:`rtmer.heads.svm`: the aggregation network's clip SVM.
"""
