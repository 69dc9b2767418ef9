/**
 * What a drop (or a pick) of files does: .onnx models (with their external data files) open;
 * a recipe .json is imported onto the model (the one opened with it, else the open one). An
 * invalid recipe changes nothing, and the message names the key.
 */
import { useModelStore } from './model-store';
import { useRecipeStore } from './recipe-store';

const isRecipeFile = (f: File) => /\.json$/i.test(f.name) || f.type === 'application/json';

export async function openDropped(files: readonly File[]): Promise<void> {
  const recipes = files.filter(isRecipeFile);
  const models = files.filter((f) => !isRecipeFile(f));
  if (recipes.length > 1) {
    useModelStore.setState({ error: `Drop one recipe at a time (${recipes.map((f) => f.name).join(', ')}).`, notice: undefined });
    return;
  }
  if (models.length > 0) {
    await useModelStore.getState().openFiles(models);
    if (useModelStore.getState().error !== undefined) return;
  }
  const recipe = recipes[0];
  if (!recipe) return;
  if (!useModelStore.getState().model) {
    useModelStore.setState({ error: `Open a model first, then drop its recipe "${recipe.name}".`, notice: undefined });
    return;
  }
  let text: string;
  try {
    text = await recipe.text();
  } catch {
    useModelStore.setState({ error: `The recipe "${recipe.name}" could not be read.`, notice: undefined });
    return;
  }
  const store = useRecipeStore.getState();
  if (store.importText(text)) {
    useModelStore.setState({ error: undefined, notice: `Recipe "${recipe.name}" applied (undo with Ctrl+Z).` });
  } else {
    useModelStore.setState({ error: `The recipe "${recipe.name}" was not applied: ${useRecipeStore.getState().importError ?? 'invalid'}`, notice: undefined });
  }
}
