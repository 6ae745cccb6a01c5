"""Evaluation protocols on frozen or fine-tuned encoders.

* :func:`extract_features` / :func:`standardize`: frozen features and train-statistics z-scoring;
* :func:`linear_probe`: softmax classifier on frozen features (BYOL-A protocol, optional early stopping);
* :data:`SCORE_METRICS`: a probe's scores -> ``top1`` or ``auroc`` (the task's metric);
* :func:`knn_accuracy`: weighted kNN (InstDisc / solo-learn, ``k=200``, ``T=0.1``);
* :func:`label_fraction_indices`: seeded stratified label subsets (:data:`LABEL_FRACTIONS`);
* :func:`part_miou`: ShapeNet-Part class/instance mIoU;
* :func:`finetune`: end-to-end classification fine-tuning;
* :func:`train_epochs`: the cosine-annealed training loop shared by fine-tuning and the segmentation probes.
"""

from rqbench.evaluate.accuracy import top1_accuracy
from rqbench.evaluate.features import extract_features, feature_stats, standardize
from rqbench.evaluate.finetune import cosine_lr, finetune, train_epochs
from rqbench.evaluate.fractions import LABEL_FRACTIONS, label_fraction_indices, per_class_count
from rqbench.evaluate.knn import knn_accuracy, knn_predict, knn_scores
from rqbench.evaluate.linear import ProbeResult, linear_probe
from rqbench.evaluate.metrics import SCORE_METRICS, binary_auroc
from rqbench.evaluate.segmentation import SegmentationResult, part_miou, shape_iou

__all__ = [
    "LABEL_FRACTIONS",
    "SCORE_METRICS",
    "ProbeResult",
    "SegmentationResult",
    "binary_auroc",
    "cosine_lr",
    "extract_features",
    "feature_stats",
    "finetune",
    "knn_accuracy",
    "knn_predict",
    "knn_scores",
    "label_fraction_indices",
    "linear_probe",
    "part_miou",
    "per_class_count",
    "shape_iou",
    "standardize",
    "top1_accuracy",
    "train_epochs",
]
