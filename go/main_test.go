package quiver

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
)

// Some tests need a process of their own (a SIGKILL, a lowered file-size limit, a mount
// namespace). The test binary re-runs itself with QUIVER_GO_CHILD=name:arg; TestMain then
// runs that child instead of the tests. A child reports on stdout, one line at a time.
const childEnv = "QUIVER_GO_CHILD"

var children = map[string]func(arg string) int{}

func TestMain(m *testing.M) {
	if spec := os.Getenv(childEnv); spec != "" {
		name, arg, _ := strings.Cut(spec, ":")
		run, ok := children[name]
		if !ok {
			fmt.Fprintf(os.Stderr, "no child %q\n", name)
			os.Exit(2)
		}
		os.Exit(run(arg))
	}
	os.Exit(m.Run())
}

// childCmd is the command that runs child name with arg.
func childCmd(t testing.TB, name, arg string) *exec.Cmd {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe, "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"="+name+":"+arg)
	return cmd
}

// startChild starts child name with arg: its stdout is read through the scanner, line by
// line; its stderr is collected in the buffer.
func startChild(t testing.TB, name, arg string) (*exec.Cmd, *bufio.Scanner, *bytes.Buffer) {
	t.Helper()
	cmd := childCmd(t, name, arg)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	return cmd, bufio.NewScanner(out), &stderr
}

// killChild SIGKILLs a child started by startChild, passes each line it printed before
// dying (still in the pipe) to line, waits for it, and reports whether the kill ended it
// (false: it had ended by itself).
func killChild(cmd *exec.Cmd, sc *bufio.Scanner, line func(string)) bool {
	// Signal fails only if the child already ended, which the result reports.
	_ = cmd.Process.Signal(syscall.SIGKILL)
	for sc.Scan() {
		line(sc.Text())
	}
	_ = cmd.Wait()
	ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus)
	return ok && ws.Signaled()
}

// runChild runs child name to its end and returns its report: the lines of stdout,
// "key rest" split at the first space.
func runChild(t testing.TB, cmd *exec.Cmd) map[string]string {
	t.Helper()
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("child: %v\nstdout:\n%s\nstderr:\n%s", err, stdout.String(), stderr.String())
	}
	report := map[string]string{}
	sc := bufio.NewScanner(&stdout)
	for sc.Scan() {
		k, v, _ := strings.Cut(sc.Text(), " ")
		report[k] = v
	}
	return report
}

// reportErr prints a call's outcome for the parent: "key STATUS_NAME message" or "key OK".
func reportErr(key string, err error) {
	if err == nil {
		fmt.Printf("%s OK\n", key)
		return
	}
	if e, ok := err.(*Error); ok {
		fmt.Printf("%s %s %s\n", key, StatusName(e.Status), strings.ReplaceAll(e.Msg, "\n", " "))
		return
	}
	fmt.Printf("%s GO %v\n", key, err)
}
