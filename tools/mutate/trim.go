package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
)

// listedPackage is the part of `go list -json` the trimmed copy needs.
type listedPackage struct {
	ImportPath      string
	Dir             string
	Standard        bool
	Module          *struct{ Main bool }
	EmbedFiles      []string
	TestEmbedFiles  []string
	XTestEmbedFiles []string
}

// plan is what goes into the trimmed copy of the module: directories
// relative to the module root.
type plan struct {
	// Packages are the module's package directories the tests need
	// (their non-test files are copied).
	Packages []string
	// Tests are the package directories whose test files (and testdata)
	// are copied: the tests every mutant must face.
	Tests []string
	// Embeds are extra files (relative to the root) that //go:embed
	// directives of copied packages need.
	Embeds []string
	// Extra are files or directories copied as they are (data that tests
	// read by relative path).
	Extra []string
}

// listPackages runs go list -deps -test over the test packages in root.
func listPackages(root string, tests []string) ([]listedPackage, error) {
	args := []string{"list", "-deps", "-test", "-json=ImportPath,Dir,Standard,Module,EmbedFiles,TestEmbedFiles,XTestEmbedFiles"}
	for _, t := range tests {
		args = append(args, "./"+filepath.ToSlash(t))
	}
	cmd := exec.Command("go", args...)
	cmd.Dir = root
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("go list: %v: %s", err, stderr.String())
	}
	var pkgs []listedPackage
	dec := json.NewDecoder(bytes.NewReader(out))
	for {
		var p listedPackage
		if err := dec.Decode(&p); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			return nil, fmt.Errorf("go list output: %w", err)
		}
		pkgs = append(pkgs, p)
	}
	return pkgs, nil
}

// makePlan picks, from go list's answer, the main module's packages and
// the files their builds embed. tests are the directories whose tests run.
func makePlan(root string, pkgs []listedPackage, tests, extra []string) (plan, error) {
	p := plan{Tests: slices.Clone(tests), Extra: slices.Clone(extra)}
	isTest := map[string]bool{}
	for _, t := range tests {
		isTest[filepath.ToSlash(filepath.Clean(t))] = true
	}
	dirs := map[string]bool{}
	embeds := map[string]bool{}
	for _, lp := range pkgs {
		if lp.Standard || lp.Module == nil || !lp.Module.Main || strings.HasSuffix(lp.ImportPath, ".test") {
			continue
		}
		rel, err := filepath.Rel(root, lp.Dir)
		if err != nil || strings.HasPrefix(rel, "..") {
			return plan{}, fmt.Errorf("package %s is outside the module root (%s)", lp.ImportPath, lp.Dir)
		}
		rel = filepath.ToSlash(rel)
		dirs[rel] = true
		files := slices.Clone(lp.EmbedFiles)
		if isTest[rel] {
			files = append(files, lp.TestEmbedFiles...)
			files = append(files, lp.XTestEmbedFiles...)
		}
		for _, f := range files {
			embeds[pathJoin(rel, filepath.ToSlash(f))] = true
		}
	}
	for _, t := range p.Tests {
		if !dirs[filepath.ToSlash(filepath.Clean(t))] {
			return plan{}, fmt.Errorf("test package %s is not a package of the module", t)
		}
	}
	for d := range dirs {
		p.Packages = append(p.Packages, d)
	}
	for e := range embeds {
		p.Embeds = append(p.Embeds, e)
	}
	slices.Sort(p.Packages)
	slices.Sort(p.Embeds)
	slices.Sort(p.Tests)
	return p, nil
}

func pathJoin(dir, f string) string {
	if dir == "." {
		return f
	}
	return dir + "/" + f
}

// copyPlan writes the trimmed module into dst: go.mod and go.sum, each
// package's non-test files, the test files and testdata of the test
// packages, the embedded files and the extra paths.
func copyPlan(src, dst string, p plan) error {
	for _, f := range []string{"go.mod", "go.sum"} {
		if err := copyFile(filepath.Join(src, f), filepath.Join(dst, f)); err != nil {
			return err
		}
	}
	isTest := map[string]bool{}
	for _, t := range p.Tests {
		isTest[filepath.ToSlash(filepath.Clean(t))] = true
	}
	for _, d := range p.Packages {
		entries, err := os.ReadDir(filepath.Join(src, d))
		if err != nil {
			return err
		}
		for _, e := range entries {
			name := e.Name()
			if !e.Type().IsRegular() || !strings.HasSuffix(name, ".go") {
				continue
			}
			if strings.HasSuffix(name, "_test.go") && !isTest[d] {
				continue
			}
			if err := copyFile(filepath.Join(src, d, name), filepath.Join(dst, d, name)); err != nil {
				return err
			}
		}
		if isTest[d] {
			td := filepath.Join(src, d, "testdata")
			if fi, err := os.Stat(td); err == nil && fi.IsDir() {
				if err := copyTree(td, filepath.Join(dst, d, "testdata")); err != nil {
					return err
				}
			}
		}
	}
	for _, e := range p.Embeds {
		if err := copyFile(filepath.Join(src, e), filepath.Join(dst, e)); err != nil {
			return err
		}
	}
	for _, x := range p.Extra {
		fi, err := os.Stat(filepath.Join(src, x))
		if err != nil {
			return err
		}
		if fi.IsDir() {
			err = copyTree(filepath.Join(src, x), filepath.Join(dst, x))
		} else {
			err = copyFile(filepath.Join(src, x), filepath.Join(dst, x))
		}
		if err != nil {
			return err
		}
	}
	return nil
}

func copyTree(src, dst string) error {
	return filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, path)
		if err != nil {
			return err
		}
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(dst, rel), 0o755)
		}
		if !d.Type().IsRegular() {
			return nil
		}
		return copyFile(path, filepath.Join(dst, rel))
	})
}

func copyFile(src, dst string) error {
	b, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	return os.WriteFile(dst, b, 0o644)
}

// goFiles lists the non-test .go files under root, relative and with
// forward slashes, as gremlins walks them.
func goFiles(root string) ([]string, error) {
	var files []string
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		name := d.Name()
		if d.IsDir() || !strings.HasSuffix(name, ".go") || strings.HasSuffix(name, "_test.go") {
			return nil
		}
		rel, err := filepath.Rel(root, path)
		if err != nil {
			return err
		}
		files = append(files, filepath.ToSlash(rel))
		return nil
	})
	slices.Sort(files)
	return files, err
}

// excludes returns gremlins --exclude-files patterns that leave exactly
// the files of the target packages (and, if only is set, those matching it)
// to be mutated: one anchored pattern per other file.
func excludes(files, targets []string, only string) ([]string, error) {
	var re *regexp.Regexp
	if only != "" {
		r, err := regexp.Compile(only)
		if err != nil {
			return nil, fmt.Errorf("-only: %w", err)
		}
		re = r
	}
	var out []string
	for _, f := range files {
		keep := slices.Contains(targets, pathDir(f))
		if keep && re != nil && !re.MatchString(f) {
			keep = false
		}
		if !keep {
			out = append(out, "^"+regexp.QuoteMeta(f)+"$")
		}
	}
	return out, nil
}

func pathDir(f string) string {
	if i := strings.LastIndexByte(f, '/'); i >= 0 {
		return f[:i]
	}
	return "."
}
