# SPDX-License-Identifier: MIT
# Shared helpers for tests/windows/*.ps1 (dot-sourced).
$ErrorActionPreference = 'Stop'

function Fail([string]$msg) { Write-Host "FAIL: $msg"; exit 1 }
function Skip([string]$msg) { Write-Host "SKIP: $msg"; exit 77 }

# Start a program hidden with stdout/stderr to files; returns the Process.
function Start-Logged([string]$exe, [string[]]$argv, [string]$log) {
  Start-Process -FilePath $exe -ArgumentList $argv -PassThru -WindowStyle Hidden `
    -RedirectStandardOutput "$log.out" -RedirectStandardError "$log.err"
}

# Wait for a process to end within ms; returns $true when it did.
function Wait-Ended($p, [int]$ms) { return $p.WaitForExit($ms) }

# Wait until the file contains the pattern (or ms pass).
function Wait-Line([string]$file, [string]$pattern, [int]$ms) {
  $sw = [Diagnostics.Stopwatch]::StartNew()
  while ($sw.ElapsedMilliseconds -lt $ms) {
    if ((Test-Path $file) -and (Select-String -Path $file -Pattern $pattern -Quiet)) { return $true }
    Start-Sleep -Milliseconds 100
  }
  return $false
}

# The children of a process (pid list).
function Get-Children([int]$ppid) {
  @(Get-CimInstance Win32_Process -Filter "ParentProcessId=$ppid" | ForEach-Object { [int]$_.ProcessId })
}
