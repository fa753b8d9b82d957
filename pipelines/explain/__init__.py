"""SHAP explanations for evaluation reports and the `:explain` method (docs/explanations.md)."""
