"""Bình Yên reporting: projections of every topic, statistics, the yearly evaluation of each
hamlet against Circular 124/2021/TT-BCA, exports in office formats (issue 13, in progress)."""
