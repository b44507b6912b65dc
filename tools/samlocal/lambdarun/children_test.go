package lambdarun

import (
	"os"
	"os/exec"
	"slices"
	"testing"
)

// childOf and children find a live child, and lose it once it is reaped.
func TestChildren(t *testing.T) {
	cmd := exec.Command("sleep", "5")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	self, pid := os.Getpid(), cmd.Process.Pid
	if !childOf(pid, self) || !slices.Contains(children(self), pid) || childOf(pid, pid) {
		t.Errorf("child %d of %d: childOf %v, children %v", pid, self, childOf(pid, self), children(self))
	}
	_ = cmd.Process.Kill()
	_, _ = cmd.Process.Wait()
	if childOf(pid, self) || slices.Contains(children(self), pid) {
		t.Error("a reaped child is still listed")
	}
}
