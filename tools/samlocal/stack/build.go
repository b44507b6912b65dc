package stack

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"time"
)

// BuildOptions says what to build and where.
type BuildOptions struct {
	Dir       string   // output root; each function's bootstrap goes to Dir/<LogicalId>/bootstrap
	Functions []string // logical ids; all when empty
	// Force rebuilds even when a bootstrap is newer than every source file.
	Force  bool
	Output io.Writer // make's output; nil discards
}

// Build runs `make build-<LogicalId> ARTIFACTS_DIR=… GOARCH_LAMBDA=<host>`
// for each function, in its CodeUri, as `sam build` does for
// BuildMethod: makefile, but for this machine's architecture so the
// bootstrap runs here. It returns each function's bootstrap path.
func Build(ctx context.Context, t *Template, opts BuildOptions) (map[string]string, error) {
	ids, err := t.selectFunctions(opts.Functions)
	if err != nil {
		return nil, err
	}
	dir, err := filepath.Abs(opts.Dir)
	if err != nil {
		return nil, fmt.Errorf("build dir: %w", err)
	}
	out := opts.Output
	if out == nil {
		out = io.Discard
	}
	var newest time.Time
	if !opts.Force {
		if newest, err = newestSource(t.Dir); err != nil {
			return nil, err
		}
	}
	paths := map[string]string{}
	for _, id := range ids {
		if m := t.BuildMethod(id); m != "makefile" {
			return nil, fmt.Errorf("%s: Metadata.BuildMethod is %q; the local stack builds only BuildMethod: makefile", id, m)
		}
		artifacts := filepath.Join(dir, id)
		bin := filepath.Join(artifacts, "bootstrap")
		paths[id] = bin
		if !opts.Force {
			if st, err := os.Stat(bin); err == nil && st.ModTime().After(newest) {
				continue
			}
		}
		if err := os.MkdirAll(artifacts, 0o755); err != nil {
			return nil, fmt.Errorf("%s: %w", id, err)
		}
		fmt.Fprintf(out, "Building %s\n", id)
		cmd := exec.CommandContext(ctx, "make", "--no-print-directory", "build-"+id,
			"ARTIFACTS_DIR="+artifacts, "GOARCH_LAMBDA="+runtime.GOARCH)
		cmd.Dir = filepath.Join(t.Dir, t.CodeURI(id))
		cmd.Stdout, cmd.Stderr = out, out
		// make runs go, which runs compilers: stop the whole group on cancel.
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
		cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
		if err := cmd.Run(); err != nil {
			if ctx.Err() != nil {
				return nil, fmt.Errorf("build %s: %w", id, ctx.Err())
			}
			if errors.Is(err, exec.ErrNotFound) {
				return nil, fmt.Errorf("build %s: make is not installed: %w", id, err)
			}
			return nil, fmt.Errorf("build %s: make build-%s failed: %w", id, id, err)
		}
		if _, err := os.Stat(bin); err != nil {
			return nil, fmt.Errorf("build %s: make build-%s wrote no %s: %w", id, id, bin, err)
		}
	}
	return paths, nil
}

// selectFunctions checks requested logical ids against the template.
func (t *Template) selectFunctions(ids []string) ([]string, error) {
	if len(ids) == 0 {
		if len(t.Functions) == 0 {
			return nil, errors.New("the template has no AWS::Serverless::Function")
		}
		return t.Functions, nil
	}
	for _, id := range ids {
		if t.Resources[id].Type != TypeFunction {
			return nil, fmt.Errorf("%s is not an AWS::Serverless::Function in the template (functions: %s)", id, strings.Join(t.Functions, ", "))
		}
	}
	return ids, nil
}

// newestSource is the latest change to anything a bootstrap is built from:
// Go files, go.mod, go.sum and Makefiles of the module holding dir.
func newestSource(dir string) (time.Time, error) {
	root := dir
	for d := dir; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			root = d
			break
		}
		if filepath.Dir(d) == d {
			break
		}
	}
	var newest time.Time
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil // unreadable corners do not decide staleness
		}
		name := d.Name()
		if d.IsDir() {
			if path != root && (strings.HasPrefix(name, ".") || name == "node_modules") {
				return filepath.SkipDir
			}
			return nil
		}
		if strings.HasSuffix(name, ".go") || name == "go.mod" || name == "go.sum" || name == "Makefile" {
			if info, err := d.Info(); err == nil && info.ModTime().After(newest) {
				newest = info.ModTime()
			}
		}
		return nil
	})
	if err != nil {
		return time.Time{}, fmt.Errorf("scan sources: %w", err)
	}
	return newest, nil
}
