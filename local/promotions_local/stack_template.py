"""Reading a SAM template the way CloudFormation does, for the local runtime.

SAM's own transform (aws-sam-translator, the library behind `sam build` and CloudFormation's
AWS::Serverless-2016-10-31) turns the template into plain CloudFormation: Globals merged, function and state
machine roles with their policy templates written out, event source mappings, the implicit HTTP API. What the
transform leaves to CloudFormation is done here: the short `!Ref`-style tags, Parameters with their
AllowedValues and AllowedPattern, Conditions, the creation order that the references imply, and the
intrinsic functions (Ref, Fn::GetAtt, Fn::Sub, Fn::Join, Fn::If, Fn::Select, Fn::Split, Fn::FindInMap,
Fn::Base64).
"""

from __future__ import annotations

import base64
import copy
import graphlib
import re
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path, PurePosixPath
from typing import Any

import boto3
from pydantic import BaseModel, ConfigDict
from ruamel.yaml import YAML
from ruamel.yaml.constructor import SafeConstructor
from ruamel.yaml.error import YAMLError
from ruamel.yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode
from samtranslator.metrics.metrics import Metrics
from samtranslator.public.exceptions import InvalidDocumentException
from samtranslator.public.parser import Parser
from samtranslator.public.translator import Translator

_SHORT_TAGS = {
    "Ref": "Ref",
    "Condition": "Condition",
    "GetAtt": "Fn::GetAtt",
    "Sub": "Fn::Sub",
    "Join": "Fn::Join",
    "If": "Fn::If",
    "Equals": "Fn::Equals",
    "Not": "Fn::Not",
    "And": "Fn::And",
    "Or": "Fn::Or",
    "Select": "Fn::Select",
    "Split": "Fn::Split",
    "FindInMap": "Fn::FindInMap",
    "Base64": "Fn::Base64",
    "GetAZs": "Fn::GetAZs",
    "ImportValue": "Fn::ImportValue",
    "Cidr": "Fn::Cidr",
    "Transform": "Fn::Transform",
    "ToJsonString": "Fn::ToJsonString",
    "Length": "Fn::Length",
}

_SUB_PLACEHOLDER = re.compile(r"\$\{([^}]*)\}")

# The transform wants code in S3, as `sam package` leaves it. The local runtime never uploads anything: a
# folder of the template's own is handed over as a key of this bucket and read back from it afterwards.
LOCAL_CODE_BUCKET = "promotions-local-template-folder"
# The properties of serverless resources (and of the Globals sections) that name a file or folder.
_LOCAL_PATH_PROPERTIES = ("CodeUri", "ContentUri", "DefinitionUri")


class TemplateError(ValueError):
    """The template cannot be provisioned locally; the message names the resource or section at fault."""


class EnvironmentConflictError(TemplateError):
    """Two functions set one environment variable to different values (handlers share this process's)."""


class NoValue:
    """AWS::NoValue: the property or list item that holds it is dropped."""

    def __repr__(self) -> str:
        return "AWS::NoValue"


NO_VALUE = NoValue()


class PhysicalResource(BaseModel):
    """A provisioned resource: what Ref returns, what Fn::GetAtt returns, and its name, ARN and URL if any."""

    model_config = ConfigDict(frozen=True)

    logical_id: str
    resource_type: str
    physical_id: str
    name: str | None = None
    arn: str | None = None
    url: str | None = None
    attributes: dict[str, str] = {}


class _CloudFormationConstructor(SafeConstructor):
    """A safe YAML constructor that reads `!Ref x` as `{"Ref": "x"}` and so on for every short tag."""


def _construct_short_tag(long_name: str) -> Callable[[SafeConstructor, Node], dict[str, Any]]:
    def construct(constructor: SafeConstructor, node: Node) -> dict[str, Any]:
        if isinstance(node, ScalarNode):
            value: Any = constructor.construct_scalar(node)
            if long_name == "Fn::GetAtt":
                value = value.split(".", 1)
        elif isinstance(node, SequenceNode):
            value = constructor.construct_sequence(node, deep=True)
        elif isinstance(node, MappingNode):
            value = constructor.construct_mapping(node, deep=True)
        else:  # pragma: no cover - ruamel has no other node kinds
            raise TemplateError(f"unexpected YAML node for !{long_name}: {node!r}")
        return {long_name: value}

    return construct


for _short_name, _long_name in _SHORT_TAGS.items():
    _CloudFormationConstructor.add_constructor(f"!{_short_name}", _construct_short_tag(_long_name))


def load_template_body(path: Path) -> dict[str, Any]:
    """Parse a CloudFormation/SAM template (YAML or JSON) into plain data with long-form intrinsics."""
    yaml = YAML(typ="safe", pure=True)
    yaml.Constructor = _CloudFormationConstructor
    try:
        body = yaml.load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise TemplateError(f"cannot read template {path}: {exc}") from exc
    except YAMLError as exc:
        raise TemplateError(f"template {path} is not valid YAML: {exc}") from exc
    if not isinstance(body, dict) or not isinstance(body.get("Resources"), dict):
        raise TemplateError(f"template {path} has no Resources mapping")
    return body


def _with_local_paths_in_bucket(body: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of `body` whose local CodeUri, ContentUri and DefinitionUri name keys of LOCAL_CODE_BUCKET."""
    relocated = copy.deepcopy(dict(body))
    sections = [*(relocated.get("Globals") or {}).values(), *relocated["Resources"].values()]
    for section in sections:
        properties = section.get("Properties") if isinstance(section, dict) and "Type" in section else section
        if not isinstance(properties, dict):
            continue
        for key in _LOCAL_PATH_PROPERTIES:
            location = properties.get(key)
            if isinstance(location, str) and not location.startswith("s3://"):
                properties[key] = f"s3://{LOCAL_CODE_BUCKET}/{PurePosixPath(location)}"
    return relocated


class SamTemplate:
    """A SAM template as written: its Parameters, and the CloudFormation template SAM's transform makes of it."""

    def __init__(self, path: Path, body: Mapping[str, Any]):
        self.path = path
        self.body = body
        self.parameters: dict[str, dict[str, Any]] = dict(body.get("Parameters") or {})

    @classmethod
    def load(cls, path: Path) -> SamTemplate:
        return cls(path, load_template_body(path))

    def parameter_values(self, overrides: Mapping[str, str]) -> dict[str, str | list[str]]:
        unknown = set(overrides) - set(self.parameters)
        if unknown:
            raise TemplateError(
                f"parameters {', '.join(sorted(unknown))} are not declared in {self.path.name} "
                f"(declared: {', '.join(sorted(self.parameters)) or 'none'})"
            )
        values: dict[str, str | list[str]] = {}
        for name, spec in self.parameters.items():
            if name in overrides:
                raw = str(overrides[name])
            elif "Default" in spec:
                raw = str(spec["Default"])
            else:
                raise TemplateError(f"parameter {name} has no Default: pass a value for it")
            allowed = spec.get("AllowedValues")
            if allowed is not None and raw not in [str(value) for value in allowed]:
                raise TemplateError(f"parameter {name} is {raw!r}, not one of its AllowedValues {allowed}")
            pattern = spec.get("AllowedPattern")
            if pattern is not None and not re.fullmatch(pattern, raw):
                raise TemplateError(f"parameter {name} is {raw!r}, which does not match {pattern!r}")
            parameter_type = str(spec.get("Type", "String"))
            if parameter_type in {"String", "Number"}:
                values[name] = raw
            elif parameter_type == "CommaDelimitedList" or parameter_type.startswith("List<"):
                values[name] = [item.strip() for item in raw.split(",")] if raw else []
            else:
                raise TemplateError(
                    f"parameter {name} has type {parameter_type}, which the local runtime cannot resolve"
                )
        return values

    def transform(
        self, parameter_values: Mapping[str, str | list[str]], session: boto3.session.Session
    ) -> CloudFormationTemplate:
        """The template as CloudFormation deploys it after SAM's transform, in the session's region.

        The transform calls no AWS API: it takes the region and partition from the session, and the ARNs of
        AWS managed policies from the map it ships."""
        # The transform counts what it did for a publisher; this one publishes nowhere, and is flushed so that
        # it does not warn of unpublished metrics when collected.
        metrics = Metrics()
        translator = Translator(None, Parser(), boto_session=session, metrics=metrics)
        try:
            transformed = translator.translate(
                _with_local_paths_in_bucket(self.body), parameter_values=dict(parameter_values)
            )
        except InvalidDocumentException as exc:
            problems = "; ".join(cause.message for cause in exc.causes)
            raise TemplateError(f"SAM cannot transform {self.path.name}: {problems}") from exc
        finally:
            metrics.publish()
        return CloudFormationTemplate(self.path.parent, transformed)


class CloudFormationTemplate:
    """A template without serverless resources, as CloudFormation deploys it. Read-only."""

    def __init__(self, directory: Path, body: Mapping[str, Any]):
        self.directory = directory
        self.conditions: dict[str, Any] = dict(body.get("Conditions") or {})
        self.mappings: dict[str, Any] = dict(body.get("Mappings") or {})
        self.outputs: dict[str, Any] = dict(body.get("Outputs") or {})
        self.resources: dict[str, dict[str, Any]] = {
            logical_id: {**resource, "Properties": resource.get("Properties") or {}}
            for logical_id, resource in body["Resources"].items()
        }

    def local_path(self, bucket: Any, key: Any, where: str) -> Path:
        """The template's own file or folder that SAM's transform was handed as `s3://bucket/key`."""
        if bucket != LOCAL_CODE_BUCKET or not isinstance(key, str):
            raise TemplateError(
                f"{where}: the local runtime reads code and definitions from this repository's folders, "
                f"not from s3://{bucket}/{key}"
            )
        return self.directory / key

    def creation_order(self, active: set[str], known_names: set[str]) -> list[str]:
        """Active resources, each after every resource it references. `known_names` are the parameters and
        pseudo parameters a Ref may also name."""
        sorter: graphlib.TopologicalSorter[str] = graphlib.TopologicalSorter()
        for logical_id in self.resources:
            if logical_id not in active:
                continue
            resource = self.resources[logical_id]
            depends_on = resource.get("DependsOn", [])
            dependencies = {depends_on} if isinstance(depends_on, str) else set(depends_on)
            for name in referenced_names(resource["Properties"]):
                if name not in self.resources and name not in known_names:
                    raise TemplateError(
                        f"resource {logical_id} references {name}, which the template does not declare"
                    )
                if name in self.resources:
                    dependencies.add(name)
            missing = {name for name in dependencies if name not in self.resources}
            if missing:
                raise TemplateError(
                    f"resource {logical_id} DependsOn {', '.join(sorted(missing))}, which is not declared"
                )
            sorter.add(logical_id, *(name for name in dependencies if name in active))
        try:
            return list(sorter.static_order())
        except graphlib.CycleError as exc:
            raise TemplateError(f"circular dependency between resources: {' -> '.join(exc.args[1])}") from exc


def referenced_names(value: Any) -> Iterator[str]:
    """The logical ids, parameters and pseudo parameters that Ref, Fn::GetAtt and Fn::Sub in `value` name."""
    if isinstance(value, list):
        for item in value:
            yield from referenced_names(item)
    elif isinstance(value, dict):
        if len(value) == 1:
            ((key, argument),) = value.items()
            if key == "Ref" and isinstance(argument, str):
                yield argument
                return
            if key == "Fn::GetAtt":
                target = argument.split(".", 1)[0] if isinstance(argument, str) else argument[0]
                yield target
                return
            if key == "Fn::Sub":
                text, variables = (argument, {}) if isinstance(argument, str) else (argument[0], argument[1])
                for placeholder in _SUB_PLACEHOLDER.findall(text):
                    if placeholder.startswith("!") or placeholder in variables:
                        continue
                    yield placeholder.split(".", 1)[0]
                yield from referenced_names(variables)
                return
        for item in value.values():
            yield from referenced_names(item)


class IntrinsicResolver:
    """Evaluates intrinsic functions against parameter values, pseudo parameters, conditions and the
    resources provisioned so far (`resources` may keep growing while the resolver is in use)."""

    def __init__(
        self,
        template: CloudFormationTemplate,
        parameter_values: Mapping[str, str | list[str]],
        pseudo_parameters: Mapping[str, str],
        resources: Mapping[str, PhysicalResource],
    ):
        self._template = template
        self._parameters = parameter_values
        self._pseudo = pseudo_parameters
        self._resources = resources
        self._condition_values: dict[str, bool] = {}

    def condition(self, name: str) -> bool:
        if name not in self._condition_values:
            if name not in self._template.conditions:
                raise TemplateError(f"condition {name} is not declared in Conditions")
            self._condition_values[name] = self._evaluate_condition(
                self._template.conditions[name], f"Conditions.{name}"
            )
        return self._condition_values[name]

    def _evaluate_condition(self, expression: Any, where: str) -> bool:
        if not isinstance(expression, dict) or len(expression) != 1:
            raise TemplateError(
                f"{where}: a condition must be one Fn::Equals/Not/And/Or or Condition, got {expression!r}"
            )
        ((function, argument),) = expression.items()
        if function == "Condition":
            return self.condition(argument)
        if function == "Fn::Equals":
            left, right = (self.resolve(item, where) for item in argument)
            return str(left) == str(right)
        if function == "Fn::Not":
            return not self._evaluate_condition(argument[0], where)
        if function == "Fn::And":
            return all(self._evaluate_condition(item, where) for item in argument)
        if function == "Fn::Or":
            return any(self._evaluate_condition(item, where) for item in argument)
        raise TemplateError(f"{where}: {function} is not a condition function")

    def resolve(self, value: Any, where: str) -> Any:
        """`value` with every intrinsic function evaluated and AWS::NoValue entries dropped."""
        if isinstance(value, list):
            items = (self.resolve(item, f"{where}[{index}]") for index, item in enumerate(value))
            return [item for item in items if item is not NO_VALUE]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            ((key, argument),) = value.items()
            if key == "Ref":
                return self._ref(argument, where)
            if key.startswith("Fn::"):
                return self._function(key, argument, where)
        resolved = {key: self.resolve(item, f"{where}.{key}") for key, item in value.items()}
        return {key: item for key, item in resolved.items() if item is not NO_VALUE}

    def _ref(self, name: Any, where: str) -> Any:
        if name == "AWS::NoValue":
            return NO_VALUE
        if name in self._pseudo:
            return self._pseudo[name]
        if name in self._parameters:
            return self._parameters[name]
        return self._resource(name, where).physical_id

    def _resource(self, logical_id: str, where: str) -> PhysicalResource:
        if logical_id in self._resources:
            return self._resources[logical_id]
        if logical_id in self._template.resources:
            raise TemplateError(f"{where}: resource {logical_id} is not created (its Condition is false)")
        raise TemplateError(f"{where}: {logical_id} is neither a parameter nor a resource of the template")

    def _get_att(self, logical_id: str, attribute: str, where: str) -> str:
        resource = self._resource(logical_id, where)
        if attribute not in resource.attributes:
            known = ", ".join(sorted(resource.attributes)) or "none"
            raise TemplateError(
                f"{where}: {resource.resource_type} {logical_id} has no attribute {attribute} locally "
                f"(known: {known})"
            )
        return resource.attributes[attribute]

    def _text(self, value: Any, where: str) -> str:
        resolved = self.resolve(value, where)
        if isinstance(resolved, (list, dict)) or resolved is NO_VALUE:
            raise TemplateError(f"{where}: expected a string, got {resolved!r}")
        return str(resolved)

    def _function(self, function: str, argument: Any, where: str) -> Any:
        where = f"{where}.{function}"
        if function == "Fn::GetAtt":
            logical_id, attribute = argument.split(".", 1) if isinstance(argument, str) else argument
            return self._get_att(logical_id, self._text(attribute, where), where)
        if function == "Fn::Sub":
            return self._sub(argument, where)
        if function == "Fn::Join":
            delimiter, items = argument
            resolved_items = self.resolve(items, where)
            if not isinstance(resolved_items, list):
                raise TemplateError(f"{where}: expected a list to join, got {resolved_items!r}")
            return delimiter.join(self._text(item, where) for item in resolved_items)
        if function == "Fn::If":
            condition_name, if_true, if_false = argument
            return self.resolve(if_true if self.condition(condition_name) else if_false, where)
        if function == "Fn::Select":
            index, items = argument
            resolved_items = self.resolve(items, where)
            position = int(self.resolve(index, where))
            if not isinstance(resolved_items, list) or not 0 <= position < len(resolved_items):
                raise TemplateError(f"{where}: index {position} is out of range for {resolved_items!r}")
            return resolved_items[position]
        if function == "Fn::Split":
            delimiter, text = argument
            return self._text(text, where).split(delimiter)
        if function == "Fn::FindInMap":
            map_name, top_key, second_key = (self._text(item, where) for item in argument)
            try:
                return self._template.mappings[map_name][top_key][second_key]
            except KeyError as exc:
                raise TemplateError(f"{where}: Mappings has no {map_name}.{top_key}.{second_key}") from exc
        if function == "Fn::Base64":
            return base64.b64encode(self._text(argument, where).encode()).decode()
        raise TemplateError(f"{where}: {function} is not supported by the local runtime")

    def _sub(self, argument: Any, where: str) -> str:
        if isinstance(argument, str):
            text, variables = argument, {}
        elif isinstance(argument, list) and len(argument) == 2 and isinstance(argument[1], dict):
            text = argument[0]
            variables = {name: self._text(value, f"{where}.{name}") for name, value in argument[1].items()}
        else:
            raise TemplateError(f"{where}: expected a string or [string, variables], got {argument!r}")

        def substitute(match: re.Match[str]) -> str:
            placeholder = match.group(1)
            if placeholder.startswith("!"):
                return "${" + placeholder[1:] + "}"
            if placeholder in variables:
                return variables[placeholder]
            if "." in placeholder:
                logical_id, attribute = placeholder.split(".", 1)
                return self._get_att(logical_id, attribute, where)
            value = self._ref(placeholder, where)
            if isinstance(value, list) or value is NO_VALUE:
                raise TemplateError(f"{where}: ${{{placeholder}}} is not a string")
            return value

        return _SUB_PLACEHOLDER.sub(substitute, text)
