// Command helmrender renders a Helm chart's templates the way `helm template` does, with Go's text/template,
// the sprig function library and the Helm-only functions this project's chart uses (include, tpl, toYaml,
// fromYaml, toJson, fromJson, required, lookup). It exists because no helm binary can be installed offline
// here, while Debian ships text/template's sprig functions; it is a test tool, not a Helm replacement.
//
// Build offline in GOPATH mode against Debian's packages:
//
//	GO111MODULE=off GOPATH=/usr/share/gocode go build -o helmrender .
//
// Usage: helmrender -chart DIR [-f values.yaml]... [-release NAME] [-namespace NS] [-api-versions GROUP/VERSION]... [-notes]
//
// Output: the rendered documents, each preceded by "---" and "# Source: <chart>/templates/<file>", like helm.
package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"text/template"

	sprig "github.com/Masterminds/sprig"
	yaml "gopkg.in/yaml.v3"
)

type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, ",") }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }

// chartFiles is .Files: every chart file outside templates/, keyed by its slash path inside the chart.
type chartFiles map[string][]byte

func (f chartFiles) Get(name string) string      { return string(f[name]) }
func (f chartFiles) GetBytes(name string) []byte { return f[name] }
func (f chartFiles) Glob(pattern string) chartFiles {
	out := chartFiles{}
	for name, data := range f {
		if ok, _ := path.Match(pattern, name); ok {
			out[name] = data
		}
	}
	return out
}

type apiVersions []string

func (a apiVersions) Has(v string) bool {
	for _, x := range a {
		if x == v {
			return true
		}
	}
	return false
}

type kubeVersion struct{ Version, Major, Minor, GitVersion string }

type capabilities struct {
	KubeVersion kubeVersion
	APIVersions apiVersions
}

func main() {
	var valueFiles, apis multiFlag
	chartDir := flag.String("chart", "", "chart directory")
	release := flag.String("release", "release-name", "release name")
	namespace := flag.String("namespace", "default", "release namespace")
	notes := flag.Bool("notes", false, "also print NOTES.txt")
	flag.Var(&valueFiles, "f", "values file to merge over the chart's values.yaml (repeatable)")
	flag.Var(&apis, "api-versions", "extra API version for .Capabilities.APIVersions (repeatable)")
	flag.Parse()
	if *chartDir == "" {
		fail(errors.New("-chart is required"))
	}
	if err := render(*chartDir, valueFiles, apis, *release, *namespace, *notes, os.Stdout); err != nil {
		fail(err)
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "helmrender:", err)
	os.Exit(1)
}

func render(chartDir string, valueFiles, apis []string, release, namespace string, notes bool, out *os.File) error {
	chartMeta, err := readYamlFile(filepath.Join(chartDir, "Chart.yaml"))
	if err != nil {
		return err
	}
	chartName, _ := chartMeta["name"].(string)
	if chartName == "" {
		return errors.New("Chart.yaml has no name")
	}
	values, err := readYamlFile(filepath.Join(chartDir, "values.yaml"))
	if err != nil {
		return err
	}
	for _, vf := range valueFiles {
		override, err := readYamlFile(vf)
		if err != nil {
			return err
		}
		values = coalesce(override, values)
	}

	files := chartFiles{}
	var templateNames []string
	err = filepath.WalkDir(chartDir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(chartDir, p)
		rel = filepath.ToSlash(rel)
		if strings.HasPrefix(rel, "templates/") {
			templateNames = append(templateNames, rel)
			return nil
		}
		data, err := os.ReadFile(p)
		files[rel] = data
		return err
	})
	if err != nil {
		return err
	}
	sort.Strings(templateNames)

	root := template.New("gotpl").Option("missingkey=zero")
	funcs := sprig.TxtFuncMap()
	// Helm removes these two: a chart must not read the renderer's environment.
	delete(funcs, "env")
	delete(funcs, "expandenv")
	for name, fn := range helmFuncs() {
		funcs[name] = fn
	}
	funcs["include"] = func(name string, data interface{}) (string, error) {
		var buf bytes.Buffer
		if err := root.ExecuteTemplate(&buf, name, data); err != nil {
			return "", err
		}
		return buf.String(), nil
	}
	funcs["tpl"] = func(text string, data interface{}) (string, error) {
		t, err := root.Clone()
		if err != nil {
			return "", err
		}
		t, err = t.New("tpl").Parse(text)
		if err != nil {
			return "", err
		}
		var buf bytes.Buffer
		if err := t.Execute(&buf, data); err != nil {
			return "", err
		}
		return strings.ReplaceAll(buf.String(), "<no value>", ""), nil
	}
	root.Funcs(funcs)

	for _, rel := range templateNames {
		src, err := os.ReadFile(filepath.Join(chartDir, filepath.FromSlash(rel)))
		if err != nil {
			return err
		}
		if _, err := root.New(chartName + "/" + rel).Parse(string(src)); err != nil {
			return err
		}
	}

	top := map[string]interface{}{
		"Values": values,
		"Release": map[string]interface{}{
			"Name": release, "Namespace": namespace, "Service": "Helm",
			"IsInstall": true, "IsUpgrade": false, "Revision": 1,
		},
		"Chart": map[string]interface{}{
			"Name": chartName, "Version": chartMeta["version"], "AppVersion": chartMeta["appVersion"],
			"Description": chartMeta["description"], "Type": chartMeta["type"],
		},
		"Files": files,
		"Capabilities": capabilities{
			KubeVersion: kubeVersion{Version: "v1.31.0", Major: "1", Minor: "31", GitVersion: "v1.31.0"},
			APIVersions: append(apiVersions{"v1", "apps/v1", "autoscaling/v2", "policy/v1"}, apis...),
		},
	}

	for _, rel := range templateNames {
		base := path.Base(rel)
		if strings.HasPrefix(base, "_") {
			continue
		}
		name := chartName + "/" + rel
		top["Template"] = map[string]interface{}{"Name": name, "BasePath": chartName + "/templates"}
		var buf bytes.Buffer
		if err := root.ExecuteTemplate(&buf, name, top); err != nil {
			return err
		}
		text := strings.ReplaceAll(buf.String(), "<no value>", "")
		if base == "NOTES.txt" {
			if notes {
				fmt.Fprintf(out, "---\n# Source: %s\n%s\n", name, text)
			}
			continue
		}
		// helm drops documents that are empty after rendering (a disabled feature's template).
		for _, doc := range splitDocuments(text) {
			fmt.Fprintf(out, "---\n# Source: %s\n%s\n", name, doc)
		}
	}
	return nil
}

// splitDocuments splits one template's output on YAML document separators and drops empty documents.
func splitDocuments(text string) []string {
	var docs []string
	var cur []string
	flush := func() {
		doc := strings.TrimSpace(strings.Join(cur, "\n"))
		if hasContent(doc) {
			docs = append(docs, strings.TrimRight(strings.Join(cur, "\n"), " \n"))
		}
		cur = cur[:0]
	}
	for _, line := range strings.Split(text, "\n") {
		if strings.TrimRight(line, " ") == "---" {
			flush()
			continue
		}
		cur = append(cur, line)
	}
	flush()
	return docs
}

func hasContent(doc string) bool {
	for _, line := range strings.Split(doc, "\n") {
		t := strings.TrimSpace(line)
		if t != "" && !strings.HasPrefix(t, "#") {
			return true
		}
	}
	return false
}

func helmFuncs() template.FuncMap {
	return template.FuncMap{
		"toYaml": func(v interface{}) string {
			s, err := toYaml(v)
			if err != nil {
				return ""
			}
			return s
		},
		"mustToYaml": toYaml,
		"fromYaml": func(s string) map[string]interface{} {
			m, err := parseYaml([]byte(s))
			if err != nil {
				return map[string]interface{}{"Error": err.Error()}
			}
			return m
		},
		"fromYamlArray": func(s string) []interface{} {
			var a []interface{}
			if err := yaml.Unmarshal([]byte(s), &a); err != nil {
				return []interface{}{err.Error()}
			}
			n, _ := normalize(a)
			arr, _ := n.([]interface{})
			return arr
		},
		"toJson": func(v interface{}) string {
			b, err := json.Marshal(v)
			if err != nil {
				return ""
			}
			return string(b)
		},
		"fromJson": func(s string) map[string]interface{} {
			m := map[string]interface{}{}
			if err := json.Unmarshal([]byte(s), &m); err != nil {
				m["Error"] = err.Error()
			}
			return m
		},
		"required": func(msg string, v interface{}) (interface{}, error) {
			if v == nil {
				return nil, errors.New(msg)
			}
			if s, ok := v.(string); ok && s == "" {
				return nil, errors.New(msg)
			}
			return v, nil
		},
		// No cluster here: lookup finds nothing, as under `helm template`.
		"lookup": func(apiVersion, kind, namespace, name string) (map[string]interface{}, error) {
			return map[string]interface{}{}, nil
		},
	}
}

// toYaml marshals like helm (sigs.k8s.io/yaml): through JSON, so keys are sorted and struct tags are JSON's.
func toYaml(v interface{}) (string, error) {
	j, err := json.Marshal(v)
	if err != nil {
		return "", err
	}
	var generic interface{}
	if err := yaml.Unmarshal(j, &generic); err != nil {
		return "", err
	}
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(generic); err != nil {
		return "", err
	}
	_ = enc.Close()
	return strings.TrimSuffix(buf.String(), "\n"), nil
}

func readYamlFile(p string) (map[string]interface{}, error) {
	data, err := os.ReadFile(p)
	if err != nil {
		return nil, err
	}
	m, err := parseYaml(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", p, err)
	}
	return m, nil
}

// parseYaml reads a YAML mapping the way helm does (YAML → JSON → Go): numbers become float64.
func parseYaml(data []byte) (map[string]interface{}, error) {
	var raw interface{}
	if err := yaml.Unmarshal(data, &raw); err != nil {
		return nil, err
	}
	if raw == nil {
		return map[string]interface{}{}, nil
	}
	n, err := normalize(raw)
	if err != nil {
		return nil, err
	}
	m, ok := n.(map[string]interface{})
	if !ok {
		return nil, errors.New("YAML document is not a mapping")
	}
	return m, nil
}

func normalize(v interface{}) (interface{}, error) {
	j, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	var out interface{}
	err = json.Unmarshal(j, &out)
	return out, err
}

// coalesce merges override over base like helm's value coalescing: maps merge recursively, a null deletes.
func coalesce(override, base map[string]interface{}) map[string]interface{} {
	out := make(map[string]interface{}, len(base))
	for k, v := range base {
		out[k] = v
	}
	for k, v := range override {
		if v == nil {
			delete(out, k)
			continue
		}
		if om, ok := v.(map[string]interface{}); ok {
			if bm, ok := out[k].(map[string]interface{}); ok {
				out[k] = coalesce(om, bm)
				continue
			}
		}
		out[k] = v
	}
	return out
}
