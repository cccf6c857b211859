package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// TestInstallLikeAGoTool installs the command with `go install` in an environment that holds
// only what the go command itself needs (no GOEXPERIMENT, no build tags, no CGO settings),
// then runs the binary with an empty environment: `version` names the command, the Go
// version and the schema; `completion bash|zsh|fish` prints a script.
func TestInstallLikeAGoTool(t *testing.T) {
	t.Parallel()
	gobin := t.TempDir()
	env := []string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME"), "GOBIN=" + gobin}
	for _, k := range []string{"GOCACHE", "GOMODCACHE", "GOPATH", "GOPROXY", "GOFLAGS", "GOTOOLCHAIN"} {
		out, err := exec.Command("go", "env", k).Output()
		if err != nil {
			t.Fatal(err)
		}
		if v := strings.TrimSpace(string(out)); v != "" {
			env = append(env, k+"="+v)
		}
	}
	install := exec.Command("go", "install", "github.com/actingweb/actingweb-go/cmd/actingweb")
	install.Env = env
	if out, err := install.CombinedOutput(); err != nil {
		t.Fatalf("go install: %v\n%s", err, out)
	}
	bin := filepath.Join(gobin, "actingweb")
	run := func(args ...string) string {
		t.Helper()
		cmd := exec.Command(bin, args...)
		cmd.Env = []string{}
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("actingweb %s with an empty environment: %v\n%s", strings.Join(args, " "), err, out)
		}
		return string(out)
	}
	if v := run("version"); !strings.HasPrefix(v, "actingweb ") || !strings.Contains(v, runtime.Version()) || !strings.Contains(v, "Alembic head") {
		t.Errorf("version = %q", v)
	}
	for shell, mark := range map[string]string{"bash": "complete -o default", "zsh": "#compdef actingweb", "fish": "complete -c actingweb"} {
		if out := run("completion", shell); !strings.Contains(out, mark) {
			t.Errorf("completion %s: no %q in the script", shell, mark)
		}
	}
}
