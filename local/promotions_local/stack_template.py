"""Reading a SAM template the way CloudFormation and the SAM transform would, for the local runtime.

Covers what the local stack needs: the short `!Ref`-style tags, Parameters with defaults and overrides,
Conditions, Globals merged into the serverless resources, the resources SAM adds implicitly (function and
state machine roles, SQS event source mappings, the implicit HTTP API), the creation order that the
references imply, and the intrinsic functions (Ref, Fn::GetAtt, Fn::Sub, Fn::Join, Fn::If, Fn::Select,
Fn::Split, Fn::FindInMap, Fn::Base64).
"""

from __future__ import annotations

import base64
import copy
import graphlib
import logging
import re
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict
from ruamel.yaml import YAML
from ruamel.yaml.constructor import SafeConstructor
from ruamel.yaml.error import YAMLError
from ruamel.yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

logger = logging.getLogger(__name__)

SERVERLESS_FUNCTION = "AWS::Serverless::Function"
SERVERLESS_STATE_MACHINE = "AWS::Serverless::StateMachine"
SERVERLESS_HTTP_API = "AWS::Serverless::HttpApi"
EVENT_SOURCE_MAPPING = "AWS::Lambda::EventSourceMapping"
IMPLICIT_HTTP_API = "ServerlessHttpApi"

# Globals section -> the resource type it applies to.
_GLOBALS_SECTIONS = {
    "Function": SERVERLESS_FUNCTION,
    "StateMachine": SERVERLESS_STATE_MACHINE,
    "HttpApi": SERVERLESS_HTTP_API,
    "Api": "AWS::Serverless::Api",
    "SimpleTable": "AWS::Serverless::SimpleTable",
    "LayerVersion": "AWS::Serverless::LayerVersion",
}

# Function event types that describe how AWS calls the function but that moto never delivers locally.
_UNDELIVERED_EVENT_TYPES = {"EventBridgeRule", "CloudWatchEvent", "Schedule", "ScheduleV2", "SNS", "S3"}

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


_INTRINSIC_KEYS = frozenset(_SHORT_TAGS.values())


def _is_intrinsic(value: Any) -> bool:
    return isinstance(value, dict) and len(value) == 1 and next(iter(value)) in _INTRINSIC_KEYS


def merge_globals(global_value: Any, local_value: Any) -> Any:
    """SAM's Globals rule: maps merge key by key, lists are the global items then the local ones, and any
    other value (an intrinsic function included) is the resource's own."""
    if (
        isinstance(global_value, dict)
        and isinstance(local_value, dict)
        and not _is_intrinsic(global_value)
        and not _is_intrinsic(local_value)
    ):
        merged = dict(global_value)
        for key, value in local_value.items():
            merged[key] = merge_globals(global_value[key], value) if key in global_value else value
        return merged
    if isinstance(global_value, list) and isinstance(local_value, list):
        return [*global_value, *local_value]
    return local_value


def _trust_policy(service: str) -> dict[str, Any]:
    return {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}],
    }


class _GeneratedResources:
    """Adds the resources the SAM transform generates beside a serverless resource."""

    def __init__(self, declared: Mapping[str, Any], expanded: dict[str, dict[str, Any]]):
        self._declared = declared
        self._expanded = expanded

    def _add(self, logical_id: str, resource: dict[str, Any], owner: dict[str, Any]) -> None:
        if logical_id in self._declared or logical_id in self._expanded:
            raise TemplateError(
                f"resource {logical_id} clashes with the resource of that name that SAM generates"
            )
        if "Condition" in owner:
            resource["Condition"] = owner["Condition"]
        self._expanded[logical_id] = resource

    def add_role_if_missing(self, logical_id: str, resource: dict[str, Any], service: str) -> None:
        properties = resource["Properties"]
        if "Role" in properties:
            return
        role_id = f"{logical_id}Role"
        role = {"Type": "AWS::IAM::Role", "Properties": {"AssumeRolePolicyDocument": _trust_policy(service)}}
        self._add(role_id, role, resource)
        properties["Role"] = {"Fn::GetAtt": [role_id, "Arn"]}

    def add_function_event_sources(self, logical_id: str, resource: dict[str, Any]) -> None:
        for event_name, event in (resource["Properties"].get("Events") or {}).items():
            event_type = event.get("Type")
            event_properties = dict(event.get("Properties") or {})
            if event_type == "SQS":
                if "Queue" not in event_properties:
                    raise TemplateError(f"SQS event {event_name} of function {logical_id} has no Queue")
                mapping_properties = {
                    "FunctionName": {"Ref": logical_id},
                    "EventSourceArn": event_properties.pop("Queue"),
                    **event_properties,
                }
                self._add(
                    f"{logical_id}{event_name}",
                    {"Type": EVENT_SOURCE_MAPPING, "Properties": mapping_properties},
                    resource,
                )
            elif event_type == "HttpApi":
                implicit_api_exists = (
                    IMPLICIT_HTTP_API in self._expanded or IMPLICIT_HTTP_API in self._declared
                )
                if "ApiId" not in event_properties and not implicit_api_exists:
                    self._add(IMPLICIT_HTTP_API, {"Type": SERVERLESS_HTTP_API, "Properties": {}}, {})
            elif event_type == "Api":
                continue  # REST API routes are not served locally.
            elif event_type in _UNDELIVERED_EVENT_TYPES:
                logger.warning(
                    "event %s of function %s (%s) is not delivered by the local runtime",
                    event_name,
                    logical_id,
                    event_type,
                )
            else:
                raise TemplateError(
                    f"event {event_name} of function {logical_id} has type {event_type!r}, "
                    "which the local runtime does not support"
                )


class SamTemplate:
    """A template after SAM's transform: Globals merged, implicit resources added. Read-only once built."""

    def __init__(self, path: Path, body: Mapping[str, Any]):
        self.path = path
        self.directory = path.parent
        self.parameters: dict[str, dict[str, Any]] = dict(body.get("Parameters") or {})
        self.conditions: dict[str, Any] = dict(body.get("Conditions") or {})
        self.mappings: dict[str, Any] = dict(body.get("Mappings") or {})
        self.outputs: dict[str, Any] = dict(body.get("Outputs") or {})
        self.resources = self._expand_serverless(body["Resources"], body.get("Globals") or {})

    @classmethod
    def load(cls, path: Path) -> SamTemplate:
        return cls(path, load_template_body(path))

    def _expand_serverless(
        self, declared: Mapping[str, Any], globals_: Mapping[str, Any]
    ) -> dict[str, dict[str, Any]]:
        unknown_sections = set(globals_) - set(_GLOBALS_SECTIONS)
        if unknown_sections:
            raise TemplateError(
                f"Globals has sections SAM does not know: {', '.join(sorted(unknown_sections))}"
            )
        globals_by_type = {_GLOBALS_SECTIONS[section]: props for section, props in globals_.items()}
        expanded: dict[str, dict[str, Any]] = {}
        generated = _GeneratedResources(declared, expanded)
        for logical_id, declared_resource in declared.items():
            if not isinstance(declared_resource, dict) or not isinstance(declared_resource.get("Type"), str):
                raise TemplateError(f"resource {logical_id} has no Type")
            resource = copy.deepcopy(declared_resource)
            properties = resource.get("Properties") or {}
            if resource["Type"] in globals_by_type:
                properties = merge_globals(copy.deepcopy(globals_by_type[resource["Type"]]), properties)
            resource["Properties"] = properties
            expanded[logical_id] = resource
            if resource["Type"] == SERVERLESS_FUNCTION:
                generated.add_role_if_missing(logical_id, resource, "lambda.amazonaws.com")
                generated.add_function_event_sources(logical_id, resource)
            elif resource["Type"] == SERVERLESS_STATE_MACHINE:
                generated.add_role_if_missing(logical_id, resource, "states.amazonaws.com")
                for event_name, event in (properties.get("Events") or {}).items():
                    logger.warning(
                        "event %s of state machine %s (%s) is not delivered by the local runtime",
                        event_name,
                        logical_id,
                        event.get("Type"),
                    )
        return expanded

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
            for name in referenced_names(resource.get("Properties") or {}):
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
        template: SamTemplate,
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
