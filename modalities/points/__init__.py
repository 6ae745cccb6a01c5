"""The 3-D point-cloud modality (paper section 5.2): furniture and procedural part clouds, an
octree backbone through ``ocnn``, MID-Net pretraining, RQ on xyz."""
