package stack

import (
	"encoding/json"
	"fmt"
	"os"
)

// EnvFile is SAM's env.json: {"<LogicalId>": {"VAR": "value"},
// "Parameters": {"VAR": "value"}}.
type EnvFile map[string]map[string]string

// LoadEnvFile reads an env.json. Numbers and booleans are taken as text,
// as SAM takes them.
func LoadEnvFile(path string) (EnvFile, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read env file: %w", err)
	}
	var raw map[string]map[string]any
	if err := json.Unmarshal(b, &raw); err != nil {
		return nil, fmt.Errorf("env file %s: want {\"<LogicalId>\": {\"VAR\": \"value\"}, \"Parameters\": {...}}: %w", path, err)
	}
	f := EnvFile{}
	for section, vars := range raw {
		f[section] = map[string]string{}
		for k, v := range vars {
			f[section][k] = scalarString(v)
		}
	}
	return f, nil
}

// ParameterOverrides are the keys of the "Parameters" sections that name
// template parameters: they change what !Ref of that parameter gives
// (e.g. Stage, and so the table names).
func (t *Template) ParameterOverrides(files ...EnvFile) map[string]string {
	out := map[string]string{}
	for _, f := range files {
		for k, v := range f["Parameters"] {
			if _, ok := t.Parameters[k]; ok {
				out[k] = v
			}
		}
	}
	return out
}

// FunctionEnv is the environment a function runs with: its template
// variables (Globals merged with its own, resolved), then local (what the
// local stack provides: endpoints, credentials, sandbox URLs), then each
// env file in turn. As in SAM, a file's "Parameters" section applies to every
// function but only to variables the template declares for it; unlike SAM,
// a function's own section may add variables the template does not declare
// (TOSS_TEST_CODE, say), which is what local fault drills need.
func (r *Resolver) FunctionEnv(id string, local map[string]string, files ...EnvFile) (map[string]string, error) {
	env, err := r.Environment(id)
	if err != nil {
		return nil, err
	}
	declared := make(map[string]bool, len(env))
	for k := range env {
		declared[k] = true
	}
	for k, v := range local {
		env[k] = v
	}
	for _, f := range files {
		for k, v := range f["Parameters"] {
			if declared[k] {
				env[k] = v
			}
		}
		for k, v := range f[id] {
			env[k] = v
		}
	}
	return env, nil
}
