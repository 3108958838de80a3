@echo off
REM dspace-deploy test look-alike of the DSpace launcher for Windows.
set DSPACEDIR=%~dp0..
set FULLPATH=%DSPACEDIR%\lib\*;%DSPACEDIR%\config
if not "%CLASSPATH%"=="" set FULLPATH=%CLASSPATH%;%FULLPATH%
if "%JAVA_OPTS%"=="" set JAVA_OPTS=-Xmx256m -Dfile.encoding=UTF-8
set JAVA_OPTS=%JAVA_OPTS% -Dlog4j2.configurationFile=%DSPACEDIR%\config\log4j2-cli.xml
java %JAVA_OPTS% -classpath "%FULLPATH%" org.dspace.app.launcher.ScriptLauncher %*
