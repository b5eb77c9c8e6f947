# SPDX-License-Identifier: MIT
# The console window of `tether run` closed (issue 14, item 13). Windows
# sends CTRL_CLOSE_EVENT to every process of that console: tether and its
# program. The program (test_spawn_win32 --child console_close 7) cleans up
# for 300 ms and exits with 7. tether must end with 7, the program's status,
# not with STATUS_CONTROL_C_EXIT (0xC000013A), which Windows gives a process
# whose close handler returned: before the fix, tether acknowledged the
# event (freeing its channel) and then called exit(), racing that end.
# Peer: the program alone in such a console ends with 7.
# The console is a new conhost window (Start-Process without -NoNewWindow);
# WM_CLOSE to it is what its close button sends. Ten rounds each.
param([Parameter(Mandatory = $true)][string]$Bin)
. "$PSScriptRoot/common.ps1"
$tether = Join-Path $Bin 'tether.exe'
$prog = Join-Path $Bin 'test_spawn_win32.exe'
if (-not (Test-Path $prog)) { Skip "no $prog (tests not built)" }
Add-Type -Namespace TetherTest -Name User32 -MemberDefinition @'
[DllImport("user32.dll")] public static extern bool PostMessageW(IntPtr hwnd, uint msg, IntPtr w, IntPtr l);
'@
$WM_CLOSE = 0x0010

# Start exe argv in a console window of its own, close the window once the
# program had time to set up, and return the exit code.
function Close-Console([string]$exe, [string[]]$argv) {
  $p = Start-Process -FilePath $exe -ArgumentList $argv -PassThru
  $sw = [Diagnostics.Stopwatch]::StartNew()
  $hwnd = [IntPtr]::Zero
  while ($sw.ElapsedMilliseconds -lt 10000 -and $hwnd -eq [IntPtr]::Zero) {
    Start-Sleep -Milliseconds 200
    $p.Refresh()
    $hwnd = $p.MainWindowHandle
  }
  if ($hwnd -eq [IntPtr]::Zero) {
    Stop-Process -Id $p.Id -Force
    Skip 'no console window found for the started process (not conhost? Windows Terminal as the default terminal)'
  }
  Start-Sleep -Milliseconds 1500 # tether's handler and the program's are in place
  [void][TetherTest.User32]::PostMessageW($hwnd, $WM_CLOSE, [IntPtr]::Zero, [IntPtr]::Zero)
  if (-not (Wait-Ended $p 15000)) {
    Stop-Process -Id $p.Id -Force
    Fail "$exe still running 15 s after its console was closed"
  }
  return $p.ExitCode
}

for ($i = 1; $i -le 10; $i++) {
  $peer = Close-Console $prog @('--child', 'console_close', '7')
  if ($peer -ne 7) { Fail ("peer round {0}: the program alone ended with 0x{1:X}, expected 7" -f $i, $peer) }
  $rc = Close-Console $tether @('run', '--', $prog, '--child', 'console_close', '7')
  if ($rc -ne 7) { Fail ("round {0}: tether run ended with 0x{1:X} after the console closed, expected the program's 7" -f $i, $rc) }
}
Write-Host 'console closed 10 times: the program and tether run both ended with 7'
exit 0
