"""Judges that name a plausible mistake: compare with the reference as every check does,
and where the answer is wrong, say which known slip it matches.

A mistake is ``(text, wrong)``: ``wrong(*case)`` computes what the slip gives on the case,
and ``text`` says what that slip is (it is added to the hint only when the answer equals
it). Like the rest of the judge this runs on the trusted side, on plain data.
"""

from ..judge import _compare, _output_names


def diagnose(reference, mistakes=(), names=None, rtol=1e-7, atol=1e-10, regions=None):
    """A ``judge(observed, *case)`` for :class:`~backproplab.grading.spec.Spec`."""
    regions = regions or {}

    def judge(observed, *case):
        expected = reference(*case)
        label = _output_names(names, expected)
        masks = {text: region(*case) for text, region in regions.items()}
        hint = _compare(observed, expected, label, rtol, atol, masks)
        if hint is None:
            return None
        for text, wrong in mistakes:
            try:
                matches = _compare(observed, wrong(*case), label, rtol, atol, {}) is None
            except Exception:  # a slip that cannot be computed on this case
                matches = False
            if matches:
                return f"{hint}; {text}"
        return hint

    return judge
