{{/* Conversion of alertmanager/alertmanager.yml (Alertmanager's own format) into the
     spec of a monitoring.coreos.com/v1alpha1 AlertmanagerConfig. Keys the conversion
     does not know stop the render (fail) instead of being dropped silently. */}}

{{/* ["name=\"value\"", ...] -> [{name, value, matchType}] as JSON. Only the classic
     matcher syntax of the file (label, operator, double-quoted value). */}}
{{- define "llm-obs.am.matchers" -}}
{{- $out := list -}}
{{- range . -}}
{{- $re := `^\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)\s*"((?:[^"\\]|\\.)*)"\s*$` -}}
{{- if not (regexMatch $re .) -}}
{{- fail (printf "alertmanager.yml: matcher %q is not label<op>\"value\"" .) -}}
{{- end -}}
{{- $out = append $out (dict "name" (regexReplaceAll $re . "${1}") "matchType" (regexReplaceAll $re . "${2}") "value" (regexReplaceAll $re . "${3}" | replace `\"` `"` | replace `\\` `\`)) -}}
{{- end -}}
{{- toJson $out -}}
{{- end -}}

{{/* One route (recursive over `routes`) as JSON. */}}
{{- define "llm-obs.am.route" -}}
{{- $known := list "receiver" "group_by" "group_wait" "group_interval" "repeat_interval" "matchers" "routes" "continue" "mute_time_intervals" "active_time_intervals" -}}
{{- $out := dict -}}
{{- range $k, $v := . -}}
{{- if not (has $k $known) -}}
{{- fail (printf "alertmanager.yml: route key %q has no AlertmanagerConfig counterpart in this chart" $k) -}}
{{- end -}}
{{- if eq $k "matchers" -}}
{{- $_ := set $out "matchers" (include "llm-obs.am.matchers" $v | fromJsonArray) -}}
{{- else if eq $k "routes" -}}
{{- $routes := list -}}
{{- range $v -}}
{{- $routes = append $routes (include "llm-obs.am.route" . | fromJson) -}}
{{- end -}}
{{- $_ := set $out "routes" $routes -}}
{{- else -}}
{{- $_ := set $out ($k | camelcase | untitle) $v -}}
{{- end -}}
{{- end -}}
{{- toJson $out -}}
{{- end -}}

{{/* The whole spec as JSON: call with (dict "doc" $parsedFile "url" $webhookUrl). */}}
{{- define "llm-obs.am.spec" -}}
{{- $doc := .doc -}}
{{- range $k, $_ := $doc -}}
{{- if not (has $k (list "route" "inhibit_rules" "receivers")) -}}
{{- fail (printf "alertmanager.yml: top-level key %q is not converted to the AlertmanagerConfig (global settings belong in kube-prometheus-stack's values)" $k) -}}
{{- end -}}
{{- end -}}
{{- $inhibit := list -}}
{{- range $doc.inhibit_rules -}}
{{- $rule := dict -}}
{{- range $k, $v := . -}}
{{- if eq $k "source_matchers" -}}
{{- $_ := set $rule "sourceMatch" (include "llm-obs.am.matchers" $v | fromJsonArray) -}}
{{- else if eq $k "target_matchers" -}}
{{- $_ := set $rule "targetMatch" (include "llm-obs.am.matchers" $v | fromJsonArray) -}}
{{- else if eq $k "equal" -}}
{{- $_ := set $rule "equal" $v -}}
{{- else -}}
{{- fail (printf "alertmanager.yml: inhibit rule key %q is not converted" $k) -}}
{{- end -}}
{{- end -}}
{{- $inhibit = append $inhibit $rule -}}
{{- end -}}
{{- $receivers := list -}}
{{- range $doc.receivers -}}
{{- $r := dict "name" .name -}}
{{- range $k, $v := . -}}
{{- if eq $k "webhook_configs" -}}
{{- $hooks := list -}}
{{- range $v -}}
{{- $hook := dict -}}
{{- range $hk, $hv := . -}}
{{- if eq $hk "url" -}}
{{- $_ := set $hook "url" $.url -}}
{{- else if has $hk (list "send_resolved" "max_alerts") -}}
{{- $_ := set $hook ($hk | camelcase | untitle) $hv -}}
{{- else -}}
{{- fail (printf "alertmanager.yml: webhook key %q is not converted" $hk) -}}
{{- end -}}
{{- end -}}
{{- $hooks = append $hooks $hook -}}
{{- end -}}
{{- $_ := set $r "webhookConfigs" $hooks -}}
{{- else if ne $k "name" -}}
{{- fail (printf "alertmanager.yml: receiver key %q is not converted (only webhook receivers are)" $k) -}}
{{- end -}}
{{- end -}}
{{- $receivers = append $receivers $r -}}
{{- end -}}
{{- toJson (dict "route" (include "llm-obs.am.route" $doc.route | fromJson) "inhibitRules" $inhibit "receivers" $receivers) -}}
{{- end -}}
