"""Typed, strict models of the repo's config files and their loaders."""

from pipelines.config._yaml import line_of, load_yaml
from pipelines.config.dataset import DatasetConfig, SplitConfig
from pipelines.config.errors import ConfigError, Problem
from pipelines.config.load import load_cases, load_dataset, load_model, load_platform, load_prompt
from pipelines.config.model import (
    METRICS,
    BehaviouralCase,
    EnvironmentSettings,
    Gate,
    ModelConfig,
    TabularClassifierConfig,
    TextClassifierConfig,
)
from pipelines.config.platform import Environment, PlatformConfig
from pipelines.config.prompt import PROMPT_METRICS, Cases, PromptConfig, PromptGate

AnyModelConfig = TextClassifierConfig | TabularClassifierConfig

__all__ = [
    "METRICS",
    "PROMPT_METRICS",
    "AnyModelConfig",
    "BehaviouralCase",
    "Cases",
    "ConfigError",
    "DatasetConfig",
    "Environment",
    "EnvironmentSettings",
    "Gate",
    "ModelConfig",
    "PlatformConfig",
    "Problem",
    "PromptConfig",
    "PromptGate",
    "SplitConfig",
    "TabularClassifierConfig",
    "TextClassifierConfig",
    "line_of",
    "load_cases",
    "load_dataset",
    "load_model",
    "load_platform",
    "load_prompt",
    "load_yaml",
]
