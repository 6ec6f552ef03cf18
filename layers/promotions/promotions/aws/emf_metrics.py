"""CloudWatch metrics in the embedded metric format (EMF), written to the function's output by Powertools."""

from __future__ import annotations


class EmfMeasurements:
    """Each measurement a blob of its own: one invocation may measure several products and environments, and
    a blob's dimensions are shared by every metric in it. The namespace is POWERTOOLS_METRICS_NAMESPACE's."""

    def record(self, name: str, unit: str, value: float, dimensions: dict[str, str]) -> None:
        # Imported at the first measurement, out of the cold start of every function that has the store.
        from aws_lambda_powertools.metrics import MetricUnit, single_metric

        with single_metric(name=name, unit=MetricUnit(unit), value=value) as metric:
            for dimension, dimension_value in dimensions.items():
                metric.add_dimension(name=dimension, value=dimension_value)
