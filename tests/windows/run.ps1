# SPDX-License-Identifier: MIT
# Real-Windows acceptance suite (issue 14): what Wine cannot show.
# Runs every tests/windows/*.ps1 except this one against a build's bin
# folder (tether.exe, tether-ctrl.exe, test_spawn_win32.exe), prints one
# line per script and exits non-zero when any failed. Each script has its
# own time limits (a hang is a failure) and exits 0 (pass), 77 (skipped,
# with the reason) or anything else (fail).
#
#   pwsh -File tests/windows/run.ps1 -Bin build/msvc/bin/Debug
#
# Status: written, NOT RUN yet (no Windows machine where it was written);
# see docs/platforms.md.
param([Parameter(Mandatory = $true)][string]$Bin)
$ErrorActionPreference = 'Stop'
$Bin = (Resolve-Path $Bin).Path
$failed = 0; $passed = 0; $skipped = 0
foreach ($t in Get-ChildItem -Path $PSScriptRoot -Filter '*.ps1' | Sort-Object Name) {
  if ($t.Name -eq 'run.ps1' -or $t.Name -eq 'common.ps1') { continue }
  $p = Start-Process -FilePath 'pwsh' -ArgumentList @('-NoProfile', '-File', $t.FullName, '-Bin', $Bin) `
    -NoNewWindow -PassThru
  # The outer watchdog: 5 minutes per script.
  if (-not $p.WaitForExit(300000)) {
    Stop-Process -Id $p.Id -Force
    Write-Host "FAIL $($t.Name): timed out after 300 s"
    $failed++
    continue
  }
  switch ($p.ExitCode) {
    0 { Write-Host "ok   $($t.Name)"; $passed++ }
    77 { Write-Host "skip $($t.Name)"; $skipped++ }
    default { Write-Host "FAIL $($t.Name): exit $($p.ExitCode)"; $failed++ }
  }
}
Write-Host "$passed passed, $failed failed, $skipped skipped"
if ($failed -ne 0) { exit 1 }
exit 0
