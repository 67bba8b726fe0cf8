{{/* Names and labels shared by every template of the llm-obs chart. */}}

{{- define "llm-obs.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 40 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 40 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "llm-obs.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: llm-obs-stack
{{- end -}}

{{/* Labels of the objects kube-prometheus-stack selects (rules, ServiceMonitors). */}}
{{- define "llm-obs.monitoringLabels" -}}
{{ include "llm-obs.labels" . }}
{{- with .Values.monitoringLabels }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{/* Selector labels of one component: call with (dict "root" $ "c" $component). */}}
{{- define "llm-obs.selectorLabels" -}}
app.kubernetes.io/name: {{ .root.Chart.Name }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .c.name }}
{{- end -}}

{{/* Object name of one component: call with (dict "root" $ "c" $component). */}}
{{- define "llm-obs.componentName" -}}
{{- printf "%s-%s" (include "llm-obs.fullname" .root) .c.name -}}
{{- end -}}

{{/* The rule files of the selected profile, as a list of chart file paths. A file in
     files/rules/production/ replaces the file of the same name in files/rules/ when
     .Values.profile is "production". */}}
{{- define "llm-obs.ruleFiles" -}}
{{- $root := . -}}
{{- if not (has .Values.profile (list "demo" "production")) -}}
{{- fail (printf "profile must be demo or production, not %q" .Values.profile) -}}
{{- end -}}
{{- $files := list -}}
{{- range $path, $_ := .Files.Glob "files/rules/*.yml" -}}
{{- $prod := printf "files/rules/production/%s" (base $path) -}}
{{- if and (eq $root.Values.profile "production") ($root.Files.Get $prod) -}}
{{- $files = append $files $prod -}}
{{- else -}}
{{- $files = append $files $path -}}
{{- end -}}
{{- end -}}
{{- toJson $files -}}
{{- end -}}
